"Shared fixtures: the project root and the original's real 3D data (tests using it skip when it is absent)."
import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_3D = Path(os.environ.get('PHENOCODER_REAL_DATA', ROOT.parent/'shared'/'data'/'3d'))

@pytest.fixture
def real_3d():
    "Path of the real 3D z-stack folder; skips the test when it is not there."
    if not (REAL_3D/'imgs').is_dir(): pytest.skip(f"real 3D data not found at {REAL_3D}")
    return REAL_3D
