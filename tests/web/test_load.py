"""The web studio under a bounded load (benchmarks/load_test.py against a real `flowstyle serve`
subprocess with a tiny model): every kind of request, good and hostile, gets its expected
answer, the health check answers throughout, and the server is up at the end."""

from __future__ import annotations

from benchmarks.load_test import BUSY, FAILED, KINDS, REJECTED, SERVED, Settings, markdown, run


def test_the_studio_holds_a_bounded_load_of_good_and_hostile_requests(tiny_model_file, tmp_path):
    settings = Settings(model=tiny_model_file, clients=4, requests=45, seconds=240, size=96, max_queue=4)
    report = run(settings, tmp_path / "server.log")
    assert report.failed == 0, report.failures
    assert report.alive_at_end and report.health_ok > 0 and report.health_failed == 0
    for kind in KINDS:  # the plan sends every kind at least once
        assert sum(report.outcomes[kind].values()) >= 1, kind
    for kind in ("good", "slow upload"):
        assert report.outcomes[kind][SERVED] + report.outcomes[kind][BUSY] == sum(report.outcomes[kind].values())
        assert report.outcomes[kind][SERVED] >= 1, kind
    for kind in set(KINDS) - {"good", "slow upload"}:
        assert report.outcomes[kind][SERVED] == 0 and report.outcomes[kind][FAILED] == 0, kind
        assert report.outcomes[kind][REJECTED] >= 1, kind
    assert 0 < report.rss_warm_mb <= report.rss_peak_mb and len(report.rss_waves_mb) == settings.waves
    text = markdown(report, "test machine")
    assert "0 failed**" in text and "server up at the end: yes" in text
