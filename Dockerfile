# agentctl in a container: installed from requirements.lock, run as a non-root user, state (the
# journal, traces) in a mounted .agentctl/, nothing of it in the image.
#
#   docker build -t agentctl .
#   docker run --rm -v "$PWD:/project" agentctl validate
#   docker run --rm -v "$PWD:/project" agentctl run pipelines/article_review.yaml \
#       -i "topic=Idempotency keys in payment APIs" --replay pipelines/cassettes/article_review.json
#
# The README demo runs offline (it replays a cassette); a live run needs the provider's key:
#   docker run --rm -e OPENAI_API_KEY -v "$PWD:/project" agentctl run pipelines/...

# BASE: any image with Python 3.11+ on PATH as `python` (and its venv module); tests/test_container.py
# builds a stand-in from Debian's packages where no registry serves python:3.11-slim.
ARG BASE=python:3.11-slim
FROM ${BASE} AS build
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY agentctl ./agentctl
RUN python -m venv /opt/agentctl \
 && /opt/agentctl/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.lock \
 && /opt/agentctl/bin/pip install --no-cache-dir --no-deps --no-build-isolation . \
 && /opt/agentctl/bin/python -m compileall -q /opt/agentctl \
 && ! ls /opt/agentctl/lib/python*/site-packages/litellm_init.pth 2>/dev/null

FROM ${BASE}
RUN useradd --create-home --uid 10001 agentctl
COPY --from=build /opt/agentctl /opt/agentctl
ENV PATH=/opt/agentctl/bin:$PATH PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1
USER agentctl
WORKDIR /project
VOLUME ["/project"]
ENTRYPOINT ["agentctl"]
CMD ["--help"]
