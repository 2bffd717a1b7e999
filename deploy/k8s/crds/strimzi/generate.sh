#!/usr/bin/env bash
# Regenerate the vendored Strimzi CRDs (kafka, kafkanodepool, kafkatopic, kafkauser .yaml) from Maven Central:
# the io.strimzi:api model run through io.strimzi:crd-generator, the way Strimzi builds its own install files.
# Needs Maven and a Java 21+ runtime (the 1.x generator is compiled for Java 21): set JAVA to its binary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
java="${JAVA:-java}"
libs="$(mktemp -d)"
trap 'rm -rf "$libs"' EXIT
mvn -q -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs"
"$java" -cp "$libs/*" io.strimzi.crdgenerator.CrdGenerator --yaml \
  --crd-api-version v1 --api-versions v1 --storage-version v1 \
  "io.strimzi.api.kafka.model.kafka.Kafka=$here/kafka.yaml" \
  "io.strimzi.api.kafka.model.nodepool.KafkaNodePool=$here/kafkanodepool.yaml" \
  "io.strimzi.api.kafka.model.topic.KafkaTopic=$here/kafkatopic.yaml" \
  "io.strimzi.api.kafka.model.user.KafkaUser=$here/kafkauser.yaml"
echo "wrote $here/{kafka,kafkanodepool,kafkatopic,kafkauser}.yaml"
