# GPU JupyterLab for the hqsam-nb lecture.
#
# Base: the Jupyter docker-stacks PyTorch image with the CUDA 12 build of PyTorch, pinned to a dated tag (never
# "latest"). It brings JupyterLab with token authentication on, the non-root user "jovyan" (uid 1000, gid 100),
# tini + start.sh as entrypoint and the `fix-permissions` helper. CUDA comes from the PyTorch wheels (runtime
# libraries only); the host needs an NVIDIA driver and the NVIDIA Container Toolkit (`docker run --gpus all`).
#
#   docker build -t hqsam-nb .                                  # no weights in the image (default)
#   docker build -t hqsam-nb --build-arg PREFETCH_VIT_TINY=1 .  # bakes in the verified 42 MB vit_tiny file
#
# Run commands (publish on 127.0.0.1 only, checkpoint cache on a volume): see the README, section "Docker".
FROM quay.io/jupyter/pytorch-notebook:cuda12-2025-08-18

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Checkpoint caches, all under one directory that is a volume at run time: the Hugging Face Hub cache (HQ-SAM
# files) and this package's own cache (Meta's original SAM files, the hash ledger). A directory of checkpoints
# you already have can be mounted read-only and named by HQSAM_NB_CHECKPOINTS instead.
ENV HF_HUB_CACHE=/home/jovyan/checkpoint-cache/huggingface \
    HQSAM_NB_CACHE=/home/jovyan/checkpoint-cache/hqsam_nb \
    HF_HUB_DISABLE_TELEMETRY=1

# .dockerignore keeps .git, virtual environments, caches and any *.pth / *.pt file out of the build context.
COPY --chown=1000:100 . /home/jovyan/hqsam-nb
WORKDIR /home/jovyan/hqsam-nb

# One cleaned layer: install this package with the dependencies pyproject.toml declares (the base image's CUDA
# build of torch/torchvision already satisfies the torch bounds, so pip keeps it) and the Ray extra (the image is
# also a Ray node: README "Scaling out"), drop setuptools' build
# leftovers, create the cache directories, and restore the ownership docker-stacks expects.
# 1000 is the base image's NB_UID (user "jovyan"); numeric, so that the host can resolve it.
USER 1000
RUN pip install --no-cache-dir "./[ray]" \
    && rm -rf build hqsam_nb.egg-info \
    && mkdir -p "${HF_HUB_CACHE}" "${HQSAM_NB_CACHE}" \
    && fix-permissions "${CONDA_DIR}" \
    && fix-permissions "/home/${NB_USER}"

# Optional: pre-fetch and verify (size + SHA-256) the vit_tiny checkpoint into the cache. Off by default, so the
# image carries no weights; vit_b/l/h are always fetched at run time into the mounted cache.
ARG PREFETCH_VIT_TINY=0
RUN if [ "${PREFETCH_VIT_TINY}" = "1" ]; then python -m hqsam_nb fetch vit_tiny; fi

# Declared after the pre-fetch: anything written here by a later build step would be discarded, and a new
# named volume starts with the image's content (the pre-fetched file, if any).
VOLUME /home/jovyan/checkpoint-cache

# Healthy when the server in the container answers HTTP: JupyterLab on $JUPYTER_PORT (8888) or Voila on 8866.
COPY docker/healthcheck.py /usr/local/bin/hqsam-nb-healthcheck.py
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/hqsam-nb-healthcheck.py"]

# 8888: JupyterLab (from the base image); 8866: Voila, when the app is served instead (see the README).
EXPOSE 8866

# Non-root at run time. start-notebook.py runs `jupyter lab` with docker-stacks' server config: token
# authentication on (a random token printed in `docker logs`, or JUPYTER_TOKEN if you set one), no root.
USER 1000
CMD ["start-notebook.py"]
