"""The channels service's pure decisions: signatures, CloudEvents over HTTP, rate limits, retry schedules."""
