"""Test configuration shared by every test: hypothesis profiles and the build under test."""
import os

from hypothesis import HealthCheck, settings

import centbook

# CI profile: no deadlines (the machines are noisy), bounded examples, the failing example's
# reproduction blob printed. `HYPOTHESIS_PROFILE=dev` locally for more examples.
settings.register_profile(
    "ci", deadline=None, max_examples=200, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_report_header(config):
    return f"centbook {centbook.__version__} from {os.path.dirname(centbook.__file__)}"
