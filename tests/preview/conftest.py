"""The studio fixtures (tests/fixture_studio.py) for every test of the preview studio."""

from fixture_studio import make_studio_fixture  # noqa: F401
