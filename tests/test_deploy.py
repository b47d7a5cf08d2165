"""The container image and the Kubernetes manifests (deploy/), checked offline:
every resource valid against Kubernetes' own schemas (kubernetes-validate,
strict: a misspelt field fails), and the properties a province relies on —
non-root containers, health checks on the processes' own health routes,
resource requests, a disruption budget and an autoscaler for what scales,
secrets only by reference."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from scripts.model_cache import PROJECT_DIR

DEPLOY = PROJECT_DIR / "deploy"
BASE = DEPLOY / "k8s" / "base"
OVERLAYS = sorted((DEPLOY / "k8s" / "overlays").iterdir())
KUBERNETES_VERSION = "1.28"
HEALTH_ROUTES = {"fayuan-gateway": "/healthz", "fayuan-rasa": "/", "fayuan-actions": "/health"}


def documents(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def base_resources() -> list[dict]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text(encoding="utf-8"))
    return [
        resource
        for name in kustomization["resources"]
        for resource in documents((BASE / name).read_text(encoding="utf-8"))
    ]


def rendered(overlay: Path) -> list[dict]:
    """The overlay as Kustomize builds it (kubectl's built-in Kustomize)."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl (with its Kustomize) is not installed: the overlays are not rendered")
    built = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    return documents(built.stdout)


def of_kind(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def assert_valid(resources: list[dict]) -> None:
    for resource in resources:
        # Raises ValidationError naming the field.
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_base_manifests_are_valid_kubernetes():
    assert_valid(base_resources())


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_each_overlay_builds_into_valid_kubernetes(overlay):
    resources = rendered(overlay)
    assert_valid(resources)
    deployments = of_kind(resources, "Deployment")
    assert set(deployments) == set(HEALTH_ROUTES)
    for deployment in deployments.values():
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.startswith("registry.example.org/fayuan-zhushou:"), image


def test_a_province_runs_more_copies_than_a_centre():
    counts = {
        overlay.name: {
            name: d["spec"]["replicas"]
            for name, d in of_kind(rendered(overlay), "Deployment").items()
        }
        for overlay in OVERLAYS
    }
    for name in HEALTH_ROUTES:
        assert counts["province"][name] > counts["small-centre"][name] >= 1


def test_every_process_is_checked_runs_unprivileged_and_asks_for_what_it_needs():
    resources = base_resources()
    deployments = of_kind(resources, "Deployment")
    assert set(deployments) == set(HEALTH_ROUTES)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == HEALTH_ROUTES[name], (name, probe)
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        # Secrets by reference only: no value of a secret in the manifests.
        assert {"secretRef": {"name": "fayuan-secrets"}} in container["envFrom"]
        for variable in container.get("env", []):
            if variable["name"] in ("PII_KEY", "RASA_TOKEN", "ACTIONS_SECRET"):
                assert "valueFrom" in variable, variable["name"]
    assert not of_kind(resources, "Secret"), "secrets are made by hand, never committed"


def test_what_scales_has_an_autoscaler_and_a_disruption_budget():
    resources = base_resources()
    budgets = {
        b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for b in of_kind(resources, "PodDisruptionBudget").values()
    }
    assert budgets == set(HEALTH_ROUTES)
    scaled = {
        h["spec"]["scaleTargetRef"]["name"]
        for h in of_kind(resources, "HorizontalPodAutoscaler").values()
    }
    assert scaled == {"fayuan-gateway", "fayuan-rasa"}


def test_the_image_is_built_in_two_stages_and_runs_without_privileges():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and " AS build" in stages[0]
    assert "COPY --from=build" in dockerfile
    user = [line for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user and user[-1].split()[1] not in ("root", "0")
    # The same uv as setup, so the image installs exactly the locked versions.
    setup = (PROJECT_DIR / "scripts" / "setup.sh").read_text(encoding="utf-8")
    uv_version = next(
        line.split("=")[1] for line in setup.splitlines() if line.startswith("UV_VERSION=")
    )
    assert f'"uv=={uv_version}"' in dockerfile
    assert "uv sync --frozen --no-dev" in dockerfile
    # The build context leaves out the local venv (the image builds its own), data and secrets.
    ignored = (PROJECT_DIR / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", "var", ".env"} <= set(ignored)
