# Two commands on a fresh machine: `make demo` and `make test`. Both bootstrap .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FDSL := $(VENV)/bin/fdsl
STAMP := $(VENV)/.installed
DEMO := demo-output

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[train,test,hf,tensorboard]"
	touch $(STAMP)

demo: $(STAMP)
	@rm -rf $(DEMO)
	@echo "== 1/4 search: 8 FractalDB categories (filling rate >= 0.2, seed 1)"
	$(FDSL) search fractal --categories 8 --seed 1 --out $(DEMO)/catalog
	@echo "== 2/4 render: 8 categories x 25 weight rows x 2 patch draws x 4 flips at 128 px"
	$(FDSL) render fractal --params $(DEMO)/catalog --out $(DEMO)/fractaldb --size 128 --points 30000 --patches 2 --workers 2
	@echo "== 3/4 preview"
	$(FDSL) preview $(DEMO)/fractaldb --out $(DEMO)/preview.png
	@echo "== 4/4 does pre-training pay? a small ViT pre-trained on formula images vs scratch, fine-tuned on 100 real digits (3 seeds, held-out digits)"
	$(FDSL) experiment digits-demo --out $(DEMO)/digits
	@echo "== done: catalog $(DEMO)/catalog, dataset $(DEMO)/fractaldb, contact sheet $(DEMO)/preview.png, runs and curves $(DEMO)/digits"

test: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(DEMO) $(VENV) *.egg-info
