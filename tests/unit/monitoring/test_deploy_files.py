"""The production files in deploy/ agree with the service: the environment template names
only settings it reads, the Prometheus rules only metrics it exposes, and the systemd unit
waits long enough for a clean stop."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from shopify_sync.config import Settings
from shopify_sync.domain.model import PRODUCT_STATES, ProductStates
from tests.fakes import FakeClock
from tests.unit.monitoring.test_metric_names import exercised

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
SERVER_VARIABLES = {"FORWARDED_ALLOW_IPS"}
"""Read by the HTTP server (uvicorn), not by the service's settings."""


def test_the_environment_template_names_only_settings_the_service_reads() -> None:
    """Every VARIABLE= of deploy/env.example, commented out or not, is a setting (or the
    HTTP server's), so no line of it is silently ignored."""
    text = (DEPLOY / "env.example").read_text(encoding="utf-8")
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE)
    known = {field.alias for field in Settings.model_fields.values()} | SERVER_VARIABLES

    assert names
    assert [name for name in names if name not in known] == []


def test_the_alert_rules_use_only_exposed_metrics_and_the_scraped_job() -> None:
    """Each shopify_sync_ series deploy/alert-rules.yml queries is one /metrics exposes,
    and each job it names is the one deploy/prometheus.yml scrapes."""
    clock = FakeClock()
    states = ProductStates(
        dict.fromkeys(PRODUCT_STATES, 1), clock.now() - timedelta(minutes=5), clock.now()
    )
    page = exercised(clock).render(states).decode()
    exposed = set(re.findall(r"^(shopify_sync_[a-z_]+)", page, re.MULTILINE))
    rules = (DEPLOY / "alert-rules.yml").read_text(encoding="utf-8")
    scrape = (DEPLOY / "prometheus.yml").read_text(encoding="utf-8")
    queried = set(re.findall(r"\b(shopify_sync_[a-z_]+)", rules))
    jobs = set(re.findall(r'job="([^"]+)"', rules))
    scraped = set(re.findall(r"job_name:\s*([\w-]+)", scrape))

    assert queried and queried - exposed == set()
    assert jobs and jobs <= scraped


def test_the_unit_waits_longer_than_a_clean_stop_takes() -> None:
    """systemd's TimeoutStopSec exceeds the two grace periods a SIGTERM may take (requests,
    then the pushes and the reconcile) at the default SHUTDOWN_GRACE_SECONDS."""
    unit = (DEPLOY / "shopify-sync@.service").read_text(encoding="utf-8")
    found = re.search(r"^TimeoutStopSec=(\d+)$", unit, re.MULTILINE)
    grace_s = Settings.model_fields["shutdown_grace_s"].default

    assert found is not None
    assert int(found.group(1)) > 2 * grace_s
    assert re.search(r"^KillSignal=SIGTERM$", unit, re.MULTILINE)
