# The sentiq REST service. Build from the repository root, then mount a model directory:
#   docker build -t sentiq-serve .
#   docker run --rm -p 8000:8000 -v "$PWD/runs/imdb:/model:ro" sentiq-serve
# Settings are SENTIQ_* environment variables (docker run -e SENTIQ_API_KEY=...).
# Not built or run in this project's CI (no Docker there); see README "Serve a model".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

# CPU torch first, from PyTorch's CPU index: otherwise pip would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[torch,lexicon,serve]" && useradd --create-home sentiq
USER sentiq

ENV SENTIQ_MODEL_DIR=/model SENTIQ_HOST=0.0.0.0 SENTIQ_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready').status != 200)"
CMD ["sh", "-c", "exec sentiq serve \"$SENTIQ_MODEL_DIR\""]
