# The two commands of the README. Each sets itself up on a fresh machine: a virtual
# environment in .venv with the project installed (editable) and its test tools.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,gui]"
	touch $@

## Run the main job: load the default patient, print its inventory, save pictures to out/demo.
demo: $(BIN)/.installed
	$(BIN)/rhizosim demo --out out/demo

## Run the whole test suite (the GUI tests under a virtual X server when there is no display).
test: $(BIN)/.installed
	@if [ -z "$$DISPLAY" ] && command -v xvfb-run >/dev/null 2>&1; then \
		xvfb-run -a -s "-screen 0 1920x1080x24" $(BIN)/python -m pytest; \
	else \
		$(BIN)/python -m pytest; \
	fi

clean:
	rm -rf $(VENV) out .pytest_cache
