"""The shared sentiment-model fixtures live in tests/sentiment_fixtures.py, exposed to every
test folder by tests/conftest.py."""
