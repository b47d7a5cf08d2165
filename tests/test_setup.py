"""Setup on a machine without Python 3.10 stops with what to install."""

from __future__ import annotations

import subprocess

from scripts.model_cache import PROJECT_DIR


def test_no_python_310_is_one_clear_instruction(tmp_path):
    result = subprocess.run(
        ["bash", "scripts/setup.sh"],
        cwd=PROJECT_DIR,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Python 3.10 was not found" in result.stderr
    assert "pyenv install 3.10" in result.stderr
    assert not (tmp_path / ".cache").exists()  # nothing was installed half-way
