"""Docker image, Binder and conda environments: secure defaults; pyproject.toml as the one dependency list.

No Docker engine runs in CI, so the Dockerfile is parsed (``dockerfile-parse``) and linted (``hadolint``
through ``.ci/lint.sh``), never built. Each rule is a small function returning a list of problems; it is
applied to the real files and to deliberately bad snippets, so every rule is shown to fail when it should.
"""

from __future__ import annotations

import http.server
import io
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib
import yaml
from dockerfile_parse import DockerfileParser
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

import hqsam_nb.__main__ as cli
import hqsam_nb.cli.fetch as cli_fetch
from hqsam_nb.models.checkpoints import CheckpointFile

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
ENV_FILES = [ROOT / "environment.yml", ROOT / "binder" / "environment.yml"]

# The one place where conda-forge names differ from the PyPI names in pyproject.toml.
CONDA_TO_PYPI = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "matplotlib-base": "matplotlib",
}
# Entries of an environment file that set up the environment rather than install a dependency.
ENV_TOOLING = {"python", "pip"}
# Positional `pip install` arguments that mean "this repository".
SELF_INSTALL = re.compile(r"^(\.{1,2}|/home/jovyan/hqsam-nb)/?(\[[\w,.-]+\])?/?$")  # ., ./[ray] (hadolint), ..
WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors", ".ckpt")


# --------------------------------------------------------------------------------------------------
# Dockerfile rules
# --------------------------------------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, value) pairs of a Dockerfile, comments dropped, continuation lines joined."""
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
    return [
        (item["instruction"], item["value"]) for item in parser.structure if item["instruction"] != "COMMENT"
    ]


def command_words(value: str) -> list[str]:
    """Words of a CMD / ENTRYPOINT / HEALTHCHECK CMD value, exec (JSON) form or shell form."""
    value = value.strip()
    if value.startswith("["):
        return [str(word) for word in yaml.safe_load(value)]
    return shlex.split(value)


def env_pairs(value: str) -> dict[str, str]:
    """Variables set by one ENV instruction (``K=V K2=V2`` or the legacy ``K V``)."""
    words = shlex.split(value)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def base_image_problems(instrs: list[tuple[str, str]]) -> list[str]:
    """A pinned runtime base image: a dated tag or a digest, never `latest`, never a CUDA devel image."""
    bases = [value.split()[0] for name, value in instrs if name == "FROM"]
    if not bases:
        return ["no FROM instruction"]
    problems = []
    for image in bases:
        name, _, digest = image.partition("@")
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
        if "latest" in tag:
            problems.append(f"FROM {image}: a moving `latest` tag")
        elif not digest and not re.search(r"\d{4}-\d{2}-\d{2}", tag):
            problems.append(
                f"FROM {image}: not pinned (use a dated tag such as cuda12-2025-08-18, or @sha256:...)"
            )
        if "devel" in tag:
            problems.append(
                f"FROM {image}: a CUDA devel image; the runtime libraries come with the PyTorch wheels"
            )
    return problems


def final_user_problems(instrs: list[tuple[str, str]]) -> list[str]:
    users = [value.strip() for name, value in instrs if name == "USER"]
    if not users:
        return ["no USER instruction: the container would run as the base image's user, unstated"]
    user = users[-1].split(":")[0]
    if user in {"root", "0"}:
        return [f"final USER is {users[-1]!r} (root)"]
    return []


# A token or password set to nothing, a root server, all-interfaces binding, public links, CSRF off.
INSECURE_FLAGS = [
    (re.compile(r"--allow-root"), "--allow-root"),
    (re.compile(r"token\s*=\s*(''|\"\"|$)"), "an empty token"),
    (re.compile(r"password\s*=\s*(''|\"\"|$)"), "an empty password"),
    (
        re.compile(r"0\.0\.0\.0"),
        "a 0.0.0.0 bind flag (publish the port on 127.0.0.1 at `docker run` instead)",
    ),
    (re.compile(r"--share\b|share\s*=\s*true", re.IGNORECASE), "a public share link"),
    (re.compile(r"disable_check_xsrf", re.IGNORECASE), "XSRF protection switched off"),
]


def command_problems(instrs: list[tuple[str, str]]) -> list[str]:
    """CMD / ENTRYPOINT / NOTEBOOK_ARGS keep JupyterLab's token authentication and run it as a normal user."""
    problems = []
    words: list[tuple[str, str]] = []
    for name, value in instrs:
        if name in {"CMD", "ENTRYPOINT"}:
            words += [(name, word) for word in command_words(value)]
        elif name == "ENV":
            variables = env_pairs(value)
            if "JUPYTER_TOKEN" in variables and variables["JUPYTER_TOKEN"].strip("'\"") == "":
                problems.append("ENV JUPYTER_TOKEN is empty: authentication off")
            if variables.get("GRANT_SUDO", "").lower() in {"yes", "1", "true"}:
                problems.append("ENV GRANT_SUDO gives the notebook user root")
            if "NOTEBOOK_ARGS" in variables:
                words += [("ENV NOTEBOOK_ARGS", word) for word in shlex.split(variables["NOTEBOOK_ARGS"])]
    if not any(name == "CMD" for name, _ in instrs):
        problems.append("no CMD: the server command is not stated")
    for where, word in words:
        problems += [
            f"{where} has {why}: {word!r}" for pattern, why in INSECURE_FLAGS if pattern.search(word)
        ]
    return problems


def healthcheck_problems(instrs: list[tuple[str, str]]) -> list[str]:
    checks = [value.strip() for name, value in instrs if name == "HEALTHCHECK"]
    if not checks:
        return ["no HEALTHCHECK"]
    if checks[-1].upper() == "NONE":
        return ["HEALTHCHECK NONE switches the base image's check off"]
    return []


def shell_commands(run_value: str) -> Iterator[list[str]]:
    """Simple commands of a RUN line (split at &&, ||, ;, |), as word lists."""
    for part in re.split(r"&&|\|\||;|\|", run_value):
        words = shlex.split(part, posix=True)
        if words:
            yield words


def install_problems(instrs: list[tuple[str, str]], declared: dict[str, str | None]) -> list[str]:
    """Packages come from pyproject.toml: `pip install .`; a package named explicitly must match its bound."""
    problems = []
    self_installs = 0
    for name, value in instrs:
        if name != "RUN":
            continue
        for words in shell_commands(value):
            tool = words[0]
            if tool in {"conda", "mamba", "micromamba"} and "install" in words:
                problems.append(f"RUN {' '.join(words)}: packages installed outside pyproject.toml")
            pip_at = [i for i, word in enumerate(words[:-1]) if word == "pip" and words[i + 1] == "install"]
            if not pip_at:
                continue
            for word in words[pip_at[0] + 2 :]:
                if word in {"-r", "--requirement", "-c", "--constraint"} or word.startswith("--requirement="):
                    problems.append(f"RUN pip install {word} ...: a requirements file outside pyproject.toml")
                elif word.startswith("-"):
                    continue
                elif SELF_INSTALL.match(word):
                    self_installs += 1
                else:
                    problems += _named_requirement_problems(word, declared, "Dockerfile")
    if self_installs == 0:
        problems.append("the Dockerfile never runs `pip install .` (this package, from pyproject.toml)")
    return problems


def _named_requirement_problems(text: str, declared: dict[str, str | None], where: str) -> list[str]:
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return [f"{where}: {text!r} is not a requirement"]
    key = canonicalize_name(requirement.name)
    if key not in declared:
        return [f"{where}: installs {requirement.name}, which pyproject.toml does not declare"]
    bound = lower_bound(requirement.specifier)
    if bound != declared[key]:
        return [f"{where}: {requirement.name} lower bound {bound}, pyproject.toml has {declared[key]}"]
    return []


def weights_problems(instrs: list[tuple[str, str]], dockerignore: str) -> list[str]:
    """No checkpoint enters the image unless PREFETCH_VIT_TINY=1 asks for the verified vit_tiny file."""
    problems = []
    ignored = {line.strip() for line in dockerignore.splitlines()}
    for suffix in (".pth", ".pt"):
        if not ({f"*{suffix}", f"**/*{suffix}"} & ignored):
            problems.append(f".dockerignore does not exclude *{suffix} files from the build context")
    args = dict(
        value.split("=", 1) if "=" in value else (value, "") for name, value in instrs if name == "ARG"
    )
    for name, value in instrs:
        if name in {"COPY", "ADD"} and any(word.endswith(WEIGHT_SUFFIXES) for word in value.split()):
            problems.append(f"{name} {value}: copies weights into the image")
        if name == "ADD" and "://" in value:
            problems.append(f"ADD {value}: downloads into the image")
        if name != "RUN":
            continue
        if re.search(r"\b(wget|curl|hf_hub_download|huggingface-cli|hf download)\b", value):
            problems.append(f"RUN {value}: downloads outside `python -m hqsam_nb fetch` (unverified)")
        if "hqsam_nb fetch" in value:
            fetched = re.findall(r"hqsam_nb fetch ([\w ]+?)(?:;|&&|$)", value)
            if "PREFETCH_VIT_TINY" not in value:
                problems.append(f"RUN {value}: fetches weights unconditionally")
            elif args.get("PREFETCH_VIT_TINY", "") not in {"0", "", "false", "no"}:
                problems.append(
                    f"ARG PREFETCH_VIT_TINY={args['PREFETCH_VIT_TINY']}: weights baked in by default"
                )
            if any(words.split() != ["vit_tiny"] for words in fetched):
                problems.append(f"RUN {value}: pre-fetches more than vit_tiny")
    return problems


def volume_problems(instrs: list[tuple[str, str]]) -> list[str]:
    """The checkpoint caches live on a VOLUME declared after the pre-fetch (which would otherwise be lost)."""
    volumes = [
        (i, word.strip("\"'[],"))
        for i, (name, value) in enumerate(instrs)
        if name == "VOLUME"
        for word in value.split()
    ]
    if not volumes:
        return ["no VOLUME for the checkpoint cache"]
    problems = []
    env: dict[str, str] = {}
    for name, value in instrs:
        if name == "ENV":
            env.update(env_pairs(value))
    for variable in ("HF_HUB_CACHE", "HQSAM_NB_CACHE"):
        path = env.get(variable)
        if path is None:
            problems.append(f"ENV {variable} is not set: the cache would not be on the volume")
        elif not any(path == volume or path.startswith(volume.rstrip("/") + "/") for _, volume in volumes):
            problems.append(
                f"ENV {variable}={path} is not inside a VOLUME ({', '.join(v for _, v in volumes)})"
            )
    fetch_at = [i for i, (name, value) in enumerate(instrs) if name == "RUN" and "hqsam_nb fetch" in value]
    if fetch_at and min(i for i, _ in volumes) < max(fetch_at):
        problems.append(
            "VOLUME is declared before the pre-fetch RUN, which then writes into a discarded volume"
        )
    return problems


# --------------------------------------------------------------------------------------------------
# Dependency lists
# --------------------------------------------------------------------------------------------------


def lower_bound(specifier: SpecifierSet) -> str | None:
    """The version of the ``>=`` clause of a specifier set, or None when there is none."""
    bounds = [spec.version for spec in specifier if spec.operator == ">="]
    return bounds[0] if bounds else None


def pyproject_requirements() -> dict[str, str | None]:
    """Runtime dependencies of pyproject.toml: canonical name -> lower bound."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    requirements = (Requirement(text) for text in project["dependencies"])
    return {canonicalize_name(req.name): lower_bound(req.specifier) for req in requirements}


def _conda_spec(entry: str) -> tuple[str, SpecifierSet]:
    """``name >=1.0`` / ``name>=1.0,<2`` / ``name=3.12`` (conda match specs, the subset we use)."""
    match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*", entry)
    if match is None:
        raise ValueError(f"cannot read the conda dependency {entry!r}")
    name, spec = match.groups()
    spec = re.sub(r"^=(?!=)", "==", spec.replace(" ", ""))  # conda's `=3.12` means 3.12.*; near enough
    if spec.startswith("==") and not spec.endswith("*") and spec.count(".") < 2:
        spec += ".*"
    return name, SpecifierSet(spec)


def environment_requirements(path: Path) -> tuple[dict[str, str | None], list[str], dict[str, SpecifierSet]]:
    """(PyPI name -> lower bound, self-install entries, tooling specs such as python) of a conda env file."""
    data = yaml.safe_load(path.read_text())
    packages: dict[str, str | None] = {}
    tooling: dict[str, SpecifierSet] = {}
    self_installs: list[str] = []
    for entry in data["dependencies"]:
        if isinstance(entry, dict):
            for line in entry.get("pip", []):
                target = line.removeprefix("-e").strip()
                if SELF_INSTALL.match(target):
                    self_installs.append(line)
                    continue
                req = Requirement(line)
                packages[canonicalize_name(req.name)] = lower_bound(req.specifier)
            continue
        name, spec = _conda_spec(str(entry))
        if name in ENV_TOOLING:
            tooling[name] = spec
            continue
        packages[canonicalize_name(CONDA_TO_PYPI.get(name, name))] = lower_bound(spec)
    return packages, self_installs, tooling


def requirement_differences(
    declared: dict[str, str | None], found: dict[str, str | None], where: str
) -> list[str]:
    """One line per name missing from, extra in, or with another lower bound in ``where`` than pyproject."""
    lines = [
        f"missing from {where}: {name}>={declared[name]}" for name in sorted(declared.keys() - found.keys())
    ]
    lines += [
        f"in {where} but not in pyproject.toml: {name}" for name in sorted(found.keys() - declared.keys())
    ]
    lines += [
        f"lower bound of {name}: pyproject.toml >={declared[name]}, {where} >={found[name]}"
        for name in sorted(declared.keys() & found.keys())
        if declared[name] != found[name]
    ]
    return lines


# --------------------------------------------------------------------------------------------------
# Tests: the real files
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def test_dockerfile_base_is_a_pinned_cuda_jupyter_image(dockerfile):
    assert base_image_problems(dockerfile) == []
    (base,) = [value for name, value in dockerfile if name == "FROM"]
    assert base.startswith("quay.io/jupyter/pytorch-notebook:cuda12-"), base


def test_dockerfile_runs_as_non_root_with_token_auth(dockerfile):
    problems = final_user_problems(dockerfile) + command_problems(dockerfile)
    assert not problems, "\n".join(problems)


def test_dockerfile_has_a_healthcheck(dockerfile):
    assert healthcheck_problems(dockerfile) == []
    (check,) = [value for name, value in dockerfile if name == "HEALTHCHECK"]
    script = command_words(check.split("CMD", 1)[1])[-1]
    copied = [value.split() for name, value in dockerfile if name == "COPY" and value.split()[-1] == script]
    assert copied, f"the healthcheck runs {script}, which no COPY puts in the image"
    assert (ROOT / copied[0][-2]).is_file()


def test_dockerfile_installs_exactly_what_pyproject_declares(dockerfile):
    assert install_problems(dockerfile, pyproject_requirements()) == []


def test_dockerfile_bakes_in_no_weights_and_caches_on_a_volume(dockerfile):
    assert weights_problems(dockerfile, (ROOT / ".dockerignore").read_text()) == []
    assert volume_problems(dockerfile) == []


BAD_DOCKERFILES = {
    "latest tag": (
        'FROM quay.io/jupyter/pytorch-notebook:latest\nUSER 1000\nCMD ["start-notebook.py"]\n',
        base_image_problems,
        "latest",
    ),
    "floating tag": (
        "FROM quay.io/jupyter/pytorch-notebook:cuda12-python-3.11\n",
        base_image_problems,
        "not pinned",
    ),
    "no tag": ("FROM ubuntu\n", base_image_problems, "not pinned"),
    "devel image": (
        "FROM nvidia/cuda:11.7.1-devel-ubuntu22.04@sha256:" + "0" * 64 + "\n",
        base_image_problems,
        "devel",
    ),
    "root user": ("FROM x:2025-01-01\nUSER 1000\nUSER root\n", final_user_problems, "root"),
    "uid 0": ("FROM x:2025-01-01\nUSER 0:0\n", final_user_problems, "root"),
    "no user": ("FROM x:2025-01-01\n", final_user_problems, "no USER"),
    "empty token": (
        'FROM x:2025-01-01\nCMD ["start-notebook.py", "--IdentityProvider.token=\'\'"]\n',
        command_problems,
        "empty token",
    ),
    "empty token shell form": (
        "FROM x:2025-01-01\nCMD start-notebook.py --NotebookApp.token=\n",
        command_problems,
        "empty token",
    ),
    "allow root": (
        'FROM x:2025-01-01\nCMD ["jupyter", "lab", "--allow-root"]\n',
        command_problems,
        "--allow-root",
    ),
    "all interfaces": (
        'FROM x:2025-01-01\nCMD ["jupyter", "lab", "--ip=0.0.0.0"]\n',
        command_problems,
        "0.0.0.0",
    ),
    "share link": ('FROM x:2025-01-01\nCMD ["python", "app.py", "--share"]\n', command_problems, "share"),
    "args via env": (
        "FROM x:2025-01-01\nENV NOTEBOOK_ARGS=\"--ServerApp.token='' --no-browser\"\n"
        'CMD ["start-notebook.py"]\n',
        command_problems,
        "empty token",
    ),
    "empty token env": (
        'FROM x:2025-01-01\nENV JUPYTER_TOKEN=""\nCMD ["start-notebook.py"]\n',
        command_problems,
        "JUPYTER_TOKEN",
    ),
    "sudo": (
        'FROM x:2025-01-01\nENV GRANT_SUDO=yes\nCMD ["start-notebook.py"]\n',
        command_problems,
        "GRANT_SUDO",
    ),
    "no healthcheck": ("FROM x:2025-01-01\n", healthcheck_problems, "no HEALTHCHECK"),
    "healthcheck off": ("FROM x:2025-01-01\nHEALTHCHECK NONE\n", healthcheck_problems, "NONE"),
    "no volume": (
        "FROM x:2025-01-01\nENV HF_HUB_CACHE=/c/hf HQSAM_NB_CACHE=/c/h\n",
        volume_problems,
        "no VOLUME",
    ),
    "cache off volume": (
        "FROM x:2025-01-01\nENV HF_HUB_CACHE=/home/jovyan/.cache/hf HQSAM_NB_CACHE=/c/h\nVOLUME /c\n",
        volume_problems,
        "HF_HUB_CACHE",
    ),
    "volume before fetch": (
        "FROM x:2025-01-01\nENV HF_HUB_CACHE=/c/hf HQSAM_NB_CACHE=/c/h\nVOLUME /c\n"
        "ARG PREFETCH_VIT_TINY=0\n"
        'RUN if [ "$PREFETCH_VIT_TINY" = 1 ]; then python -m hqsam_nb fetch vit_tiny; fi\n',
        volume_problems,
        "before the pre-fetch",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCKERFILES))
def test_dockerfile_rules_catch_insecure_images(case):
    text, rule, expected = BAD_DOCKERFILES[case]
    problems = rule(instructions(text))
    assert any(expected in problem for problem in problems), problems


BAD_INSTALLS = {
    "extra package": (
        "RUN pip install --no-cache-dir . gradio",
        "gradio, which pyproject.toml does not declare",
    ),
    "other bound": ("RUN pip install --no-cache-dir . 'timm>=0.4'", "timm lower bound 0.4"),
    "requirements file": ("RUN pip install -r requirements.txt && pip install .", "requirements file"),
    "conda": ("RUN mamba install --yes opencv && pip install .", "outside pyproject.toml"),
    "no self install": ("RUN pip install --no-cache-dir 'timm>=0.9'", "never runs `pip install .`"),
}


@pytest.mark.parametrize("case", sorted(BAD_INSTALLS))
def test_install_rule_catches_drift(case):
    run, expected = BAD_INSTALLS[case]
    problems = install_problems(instructions(f"FROM x:2025-01-01\n{run}\n"), pyproject_requirements())
    assert any(expected in problem for problem in problems), problems


BAD_WEIGHTS = {
    "copied checkpoint": ("COPY sam_hq_vit_h.pth /weights/\n", "*.pth", "copies weights"),
    "curl": ("RUN curl -LO https://example.org/sam_vit_h.pth\n", "*.pth\n*.pt", "downloads outside"),
    "unconditional fetch": ("RUN python -m hqsam_nb fetch vit_tiny\n", "*.pth\n*.pt", "unconditionally"),
    "on by default": (
        'ARG PREFETCH_VIT_TINY=1\nRUN if [ "$PREFETCH_VIT_TINY" = 1 ]; then python -m hqsam_nb '
        "fetch vit_tiny; fi\n",
        "*.pth\n*.pt",
        "baked in by default",
    ),
    "big model": (
        'ARG PREFETCH_VIT_TINY=0\nRUN if [ "$PREFETCH_VIT_TINY" = 1 ]; then python -m hqsam_nb '
        "fetch vit_tiny vit_h; fi\n",
        "*.pth\n*.pt",
        "more than vit_tiny",
    ),
    "context not filtered": ("", ".git\n", "does not exclude *.pth"),
}


@pytest.mark.parametrize("case", sorted(BAD_WEIGHTS))
def test_weights_rule_catches_baked_in_weights(case):
    body, dockerignore, expected = BAD_WEIGHTS[case]
    problems = weights_problems(instructions(f"FROM x:2025-01-01\n{body}"), dockerignore)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_environment_file_installs_what_pyproject_declares(path):
    declared = pyproject_requirements()
    found, self_installs, tooling = environment_requirements(path)
    where = str(path.relative_to(ROOT))
    differences = requirement_differences(declared, found, where)
    assert not differences, "\n".join(
        [f"{where} differs from pyproject.toml [project.dependencies]:", *differences]
    )
    assert self_installs, (
        f"{where} does not install this repository (pip: -e {'..' if 'binder' in where else '.'})"
    )
    with open(ROOT / "pyproject.toml", "rb") as fh:
        requires_python = SpecifierSet(tomllib.load(fh)["project"]["requires-python"])
    python = tooling.get("python")
    assert python is not None, f"{where} does not name python"
    floor = lower_bound(python) or next(iter(python)).version.rstrip(".*")
    assert requires_python.contains(floor), (
        f"{where}: python {python} outside requires-python {requires_python}"
    )


def test_binder_environment_is_cpu_only():
    data = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    names = {_conda_spec(entry)[0] for entry in data["dependencies"] if isinstance(entry, str)}
    assert "pytorch-cpu" in names
    assert not names & {"pytorch", "pytorch-gpu", "cudatoolkit", "cuda-version"}, names


def test_consistency_check_names_every_difference():
    declared = {"torch": "2.1", "numpy": "1.24", "voila": "0.5"}
    found = {"torch": "2.0", "numpy": "1.24", "gradio": None}
    assert requirement_differences(declared, found, "env.yml") == [
        "missing from env.yml: voila>=0.5",
        "in env.yml but not in pyproject.toml: gradio",
        "lower bound of torch: pyproject.toml >=2.1, env.yml >=2.0",
    ]


def test_conda_names_map_onto_pyproject_names(tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(
        "dependencies:\n  - python>=3.10\n  - pytorch-gpu >=2.1\n  - matplotlib-base>=3.7\n"
        "  - huggingface_hub>=0.20\n  - pip:\n      - opencv-python-headless>=4.8\n      - -e .\n"
    )
    found, self_installs, tooling = environment_requirements(env)
    assert found == {
        "torch": "2.1",
        "matplotlib": "3.7",
        "huggingface-hub": "0.20",
        "opencv-python-headless": "4.8",
    }
    assert self_installs == ["-e ."]
    assert tooling["python"].contains("3.10") and not tooling["python"].contains("3.9")


# --------------------------------------------------------------------------------------------------
# Binder postBuild and the pre-fetch command
# --------------------------------------------------------------------------------------------------


def _fetch_commands(text: str) -> list[list[str]]:
    """Argument lists of every `python -m hqsam_nb ...` call in a script or Dockerfile."""
    return [shlex.split(args) for args in re.findall(r"python -m hqsam_nb ([^;&\n]+)", text)]


def test_binder_postbuild_is_strict_and_prefetches_vit_tiny():
    postbuild = ROOT / "binder" / "postBuild"
    text = postbuild.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert postbuild.stat().st_mode & stat.S_IXUSR, "binder/postBuild must be executable"
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "set -euo pipefail"
    assert _fetch_commands(text) == [["fetch", "vit_tiny"]]


@pytest.mark.parametrize("path", [ROOT / "binder" / "postBuild", DOCKERFILE], ids=["postBuild", "Dockerfile"])
def test_prefetch_command_is_a_valid_cli_call(path, monkeypatch, tmp_path):
    """The exact arguments the build scripts pass reach fetch_checkpoint with the official vit_tiny file."""
    fetched: list[CheckpointFile] = []

    def fake_fetch(spec: CheckpointFile) -> Path:
        fetched.append(spec)
        return tmp_path / spec.filename

    monkeypatch.setattr(cli_fetch, "fetch_checkpoint", fake_fetch)
    (args,) = _fetch_commands(path.read_text())
    assert cli.main(args) == 0
    assert [spec.filename for spec in fetched] == ["sam_hq_vit_tiny.pth"]


# --------------------------------------------------------------------------------------------------
# Lint script (hadolint + shellcheck) and the healthcheck script
# --------------------------------------------------------------------------------------------------


def _tool_env() -> dict[str, str]:
    """PATH with this interpreter's bin directory first, where pip put the hadolint / shellcheck wheels."""
    return {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}


def _run_lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(root / ".ci" / "lint.sh")], capture_output=True, text=True, env=_tool_env(), timeout=120
    )


def test_lint_script_passes_on_the_repository():
    result = _run_lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "binder/postBuild" in result.stdout and ".ci/run" in result.stdout


@pytest.mark.parametrize(
    ("dockerfile_text", "script_text", "expected"),
    [
        (
            "FROM ubuntu:latest\nRUN apt-get update && apt-get install -y curl\n",
            "#!/usr/bin/env bash\ntrue\n",
            "DL3007",
        ),  # hadolint: `latest` tag
        (None, "#!/usr/bin/env bash\nset -euo pipefail\nrm -rf $1/cache\n", "SC2086"),  # shellcheck: unquoted
    ],
    ids=["hadolint", "shellcheck"],
)
def test_lint_script_fails_on_findings(tmp_path, dockerfile_text, script_text, expected):
    (tmp_path / ".ci").mkdir()
    (tmp_path / "binder").mkdir()
    shutil.copy2(ROOT / ".ci" / "lint.sh", tmp_path / ".ci" / "lint.sh")
    (tmp_path / "Dockerfile").write_text(dockerfile_text or DOCKERFILE.read_text())
    (tmp_path / "binder" / "postBuild").write_text(script_text)
    result = _run_lint(tmp_path)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr


class _Status(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(self.status)
        self.send_header("Location", "/login")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("status", "healthy"), [(200, True), (302, True), (404, True), (500, False), (None, False)]
)
def test_healthcheck_script(status, healthy):
    """200 (JupyterLab /api), 302 (Voila with a token) or 404 mean up; a 5xx or no server means unhealthy."""
    server = None
    port = _free_port()
    if status is not None:
        handler = type("Handler", (_Status,), {"status": status})
        server = http.server.HTTPServer(("127.0.0.1", 0), handler)
        port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {**os.environ, "JUPYTER_PORT": str(port), "HQSAM_NB_VOILA_PORT": str(_free_port())}
        result = subprocess.run(
            [sys.executable, str(ROOT / "docker" / "healthcheck.py")], env=env, timeout=30
        )
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    assert (result.returncode == 0) is healthy
