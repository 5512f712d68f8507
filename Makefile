.PHONY: run test setup lint bench

run:          ## set up and start the service (API on http://127.0.0.1:8000)
	scripts/run.sh

test:         ## set up and run ruff, mypy and every test tier
	scripts/test.sh

setup:
	scripts/setup.sh

lint:
	.venv/bin/ruff check . && .venv/bin/mypy
