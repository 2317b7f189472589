"""The deployment's collectstatic (docker-compose runs it before gunicorn starts) succeeds."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_collectstatic_with_the_deployed_storage_succeeds(tmp_path):
    # As docker-compose's web service: DEBUG off, so the manifest storage hashes and compresses
    # every file and follows each reference inside CSS and JS to a file that must exist.
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "STATIC_MANIFEST"}},
        "DEBUG": "false",
        "SECRET_KEY": "x7!pQ2#zR9@vL4$kT8^wN1&mB6*cF3(hJ5)dS0-gY2+eU7=aK9_iO4~rW1%tX8",
        "DATABASE_URL": "sqlite:///:memory:",
        "STATIC_ROOT": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in ("vendor/bootstrap/bootstrap.min.css", "vendor/bootstrap/bootstrap.bundle.min.js"):
        assert (tmp_path / paths[name]).is_file()
        assert (tmp_path / (paths[name] + ".gz")).is_file()
