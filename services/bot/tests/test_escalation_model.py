"""The escalation model's arithmetic, on weights small enough to follow by hand, and its archive: what
`make train-bot` saves is what the bot loads, and an archive of other heads is refused."""

from pathlib import Path

import numpy as np
import pytest

from relais_bot.domain.escalation_model import CLASSES, HEADS, EscalationModel, Scores, heads_of
from relais_bot.domain.normalizer import normalize

pytestmark = pytest.mark.unit

VOCABULARY = ["w help", "w me", "b help me", "w angry"]
HIGH = {head: 0.5 + i / 100 for i, head in enumerate(HEADS)}
LOW = {head: 0.2 + i / 100 for i, head in enumerate(HEADS)}


def model() -> EscalationModel:
    coef = np.zeros((len(CLASSES), len(VOCABULARY)))
    coef[CLASSES.index("customer-request")] = [2.0, 1.0, 3.0, 0.0]
    coef[CLASSES.index("frustration")] = [0.0, 0.0, 0.0, 4.0]
    coef[CLASSES.index("fraud")] = [0.5, 0.0, 0.0, 1.0]
    intercept = np.linspace(0.3, -0.5, len(CLASSES))
    idf = np.array([1.0, 2.0, 1.5, 1.0])
    return EscalationModel(VOCABULARY, idf, coef, intercept, HIGH, LOW, {"trained_on": ["corpus"]})


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max())
    return np.asarray(exp / exp.sum())


def test_a_message_is_weighted_by_sublinear_counts_and_idf_and_normalised() -> None:
    columns, weights = model().vector(["w help", "w me", "w help", "b help me", "w unknown", "w help"])
    # Columns in the order the features first come; unknown features left out.
    assert list(columns) == [0, 1, 2]
    raw = np.array([(1 + np.log(3)) * 1.0, 1 * 2.0, 1 * 1.5])
    assert weights == pytest.approx(raw / np.linalg.norm(raw))
    columns, weights = model().vector(["w nothing", "w known"])
    assert (columns.shape, weights.shape) == ((0,), (0,))
    assert columns.dtype == np.dtype(np.intp)


def test_the_heads_are_the_class_probabilities_with_sensitive_the_sum_of_the_categories() -> None:
    classes = np.array([0.1, 0.2, 0.05, 0.01, 0.02, 0.03, 0.04, 0.05, 0.5])
    heads = dict(zip(HEADS, heads_of(classes), strict=True))
    assert heads["customer-request"] == 0.2
    assert heads["frustration"] == 0.05
    assert heads["sensitive"] == pytest.approx(0.65)
    assert [heads[c] for c in HEADS[3:]] == [0.01, 0.02, 0.03, 0.04, 0.05, 0.5]
    # Row by row over a batch, as training reads it.
    assert heads_of(np.stack([classes, classes])).shape == (2, len(HEADS))


def test_a_message_is_scored_by_the_softmax_of_its_weights() -> None:
    text = "HELP me, help!"
    normalized = normalize(text)
    m = model()
    columns, weights = m.vector(
        ["w help", "w me", "w help", "b help me"]
    )  # what the normalizer's features give of it, less the n-grams no column holds
    coef = np.zeros((len(CLASSES), len(VOCABULARY)))
    coef[1], coef[2], coef[3] = [2.0, 1.0, 3.0, 0.0], [0.0, 0.0, 0.0, 4.0], [0.5, 0.0, 0.0, 1.0]
    expected = heads_of(softmax(coef[:, columns] @ weights + np.linspace(0.3, -0.5, len(CLASSES))))
    assert m.probabilities(normalized) == pytest.approx(expected)
    scores = m.score(text)
    assert scores.values == pytest.approx(dict(zip(HEADS, expected, strict=True)))
    assert scores == m.score_normalized(normalized)
    assert (scores.high, scores.low) == (HIGH, LOW)
    # A message of no known feature: the intercepts alone.
    empty = heads_of(softmax(np.linspace(0.3, -0.5, len(CLASSES))))
    assert m.probabilities(normalize("bonjour")) == pytest.approx(empty)


def test_a_head_fires_from_its_high_threshold_and_is_unsure_from_its_low_one() -> None:
    def scores(value: float) -> Scores:
        return Scores({"frustration": value}, {"frustration": 0.6}, {"frustration": 0.3})

    assert scores(0.6).fires("frustration")
    assert not scores(0.6).unsure("frustration")
    assert not scores(0.59).fires("frustration")
    assert scores(0.59).unsure("frustration")
    assert scores(0.3).unsure("frustration")
    assert not scores(0.29).unsure("frustration")
    assert not scores(0.29).fires("frustration")


def test_a_saved_model_loads_with_the_same_scores_thresholds_and_meta(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    model().save(path)
    loaded = EscalationModel.load(path)
    assert (loaded.high, loaded.low, loaded.meta) == (HIGH, LOW, {"trained_on": ["corpus"]})
    for text in ("help me", "I am angry, help", "bonjour", "me help me"):
        # Stored as float32: the same scores to that precision.
        assert loaded.probabilities(normalize(text)) == pytest.approx(
            model().probabilities(normalize(text)), rel=1e-6
        )
    columns, _ = loaded.vector(["w angry", "b help me", "w help"])
    assert list(columns) == [3, 2, 0]  # the vocabulary kept in its column order
    with np.load(path, allow_pickle=False) as archive:
        assert archive["idf"].dtype == np.float32
        assert archive["high"].dtype == np.float64
        assert [str(h) for h in archive["heads"]] == list(HEADS)
        assert [str(c) for c in archive["classes"]] == list(CLASSES)


def test_an_archive_of_other_heads_or_without_classes_is_refused(tmp_path: Path) -> None:
    model().save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    older = tmp_path / "older.npz"
    np.savez_compressed(older, **(arrays | {"heads": np.array(HEADS[:-1], dtype=np.str_)}))
    with pytest.raises(ValueError, match=r"older.npz: heads .*expected .*retrain the model"):
        EscalationModel.load(older)
    np.savez_compressed(older, **{k: v for k, v in arrays.items() if k != "classes"})
    with pytest.raises(ValueError, match="retrain the model"):
        EscalationModel.load(older)
    np.savez_compressed(older, **(arrays | {"classes": np.array(CLASSES[::-1], dtype=np.str_)}))
    with pytest.raises(ValueError, match="retrain the model"):
        EscalationModel.load(older)


@pytest.mark.parametrize("name", ["idf", "coef", "intercept", "lines_idf", "lines_coef", "lines_intercept"])
def test_an_archive_whose_weights_do_not_fit_its_vocabulary_is_refused(tmp_path: Path, name: str) -> None:
    message = model()
    message.add_lines(
        np.ones(len(VOCABULARY)), np.zeros((len(CLASSES), len(VOCABULARY))), np.zeros(len(CLASSES))
    )
    message.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        arrays = {n: archive[n] for n in archive.files}
    bad = tmp_path / "bad.npz"
    np.savez_compressed(bad, **(arrays | {name: arrays[name][..., :-1]}))
    with pytest.raises(ValueError, match="do not fit the vocabulary; retrain the model"):
        EscalationModel.load(bad)


def test_an_archive_with_pickled_objects_or_thresholds_of_other_heads_is_refused(tmp_path: Path) -> None:
    model().save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    pickled = tmp_path / "pickled.npz"
    np.savez_compressed(pickled, **(arrays | {"meta": np.array([{"trained_on": "corpus"}], dtype=object)}))
    with pytest.raises(ValueError, match="allow_pickle"):  # the archive is data, never code
        EscalationModel.load(pickled)
    for name in ("high", "low"):
        short = tmp_path / f"short-{name}.npz"
        np.savez_compressed(short, **(arrays | {name: arrays[name][:-1]}))
        with pytest.raises(ValueError, match="shorter"):
            EscalationModel.load(short)


def test_large_scores_give_probabilities_not_an_overflow() -> None:
    huge = EscalationModel(
        VOCABULARY, np.ones(len(VOCABULARY)), np.zeros((len(CLASSES), len(VOCABULARY))),
        np.full(len(CLASSES), 800.0), HIGH, LOW, {},
    )  # fmt: skip
    values = huge.probabilities(normalize("help"))
    assert np.all(np.isfinite(values))
    assert values[HEADS.index("customer-request")] == pytest.approx(1 / len(CLASSES))


def test_the_archive_stores_weights_as_float32_and_its_meta_with_sorted_keys(tmp_path: Path) -> None:
    unsorted = EscalationModel(
        VOCABULARY, np.ones(len(VOCABULARY)), np.zeros((len(CLASSES), len(VOCABULARY))),
        np.zeros(len(CLASSES)), HIGH, LOW, {"z": 1, "a": 2},
    )  # fmt: skip
    unsorted.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        assert archive["coef"].dtype == archive["intercept"].dtype == np.float32
        assert str(archive["meta"]) == '{"a": 2, "z": 1}'  # the same model, the same bytes


def test_a_line_model_reads_sentences_against_the_message_models_thresholds(tmp_path: Path) -> None:
    coef = np.zeros((len(CLASSES), len(VOCABULARY)))
    coef[CLASSES.index("customer-request")] = [-2.0, -1.0, -3.0, 0.0]  # reads "help me" as calm
    message = model()
    message.add_lines(np.ones(4), coef, np.zeros(len(CLASSES)))
    assert message.lines is not None
    sentence = "help me"
    read = message.score_line(sentence)
    assert read.values == message.lines.score(sentence).values
    assert read.values["customer-request"] < message.score(sentence).values["customer-request"]
    assert (read.high, read.low) == (HIGH, LOW)
    # Saved in the same archive, loaded with it.
    path = tmp_path / "model.npz"
    message.save(path)
    loaded = EscalationModel.load(path)
    assert loaded.lines is not None
    assert loaded.score_line(sentence).values == pytest.approx(read.values, rel=1e-6)
    with np.load(path, allow_pickle=False) as archive:
        assert "lines_vocabulary" not in archive  # one vocabulary for both


def test_a_line_model_on_another_vocabulary_is_not_saved(tmp_path: Path) -> None:
    message = model()
    message.lines = model()  # an index of its own
    with pytest.raises(ValueError, match="vocabulary"):
        message.save(tmp_path / "model.npz")


def test_without_a_line_model_a_sentence_is_read_as_a_message() -> None:
    assert model().score_line("help me").values == model().score("help me").values
