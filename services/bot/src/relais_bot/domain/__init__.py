"""The bot's decisions: answer, or hand over to a human with everything said so far.

Pure: no I/O, no clock.
"""
