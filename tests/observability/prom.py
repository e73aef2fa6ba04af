"""Reading a Prometheus text exposition in the observability tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_samples(exposition: str) -> Samples:
    """Every sample of a Prometheus text exposition, by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when it is not (yet) exported."""
    return samples.get((name, frozenset(labels.items())), 0.0)
