"""Size limits of the template's fields, and how a template's errors are found all at once.

Kubernetes and Linux bound what a job may carry, and a value past a bound
fails somewhere the user never wrote: a 1 MB ``workerImage`` used to fail as
"invalid value for annotations", because the tracker stores the whole
template in one annotation and Kubernetes allows 256 KiB of annotations per
object. So each field is checked against the bound that really applies to it,
and named:

==============================  ==========================================  ==========
field                           bound                                       source
==============================  ==========================================  ==========
``job_category``, workerImage   repository 255 characters, tag 128          image references
``remote_command``              4,096 bytes                                 ``PATH_MAX``
``working_directory``           4,096 bytes                                 ``PATH_MAX``
``args`` (each)                 131,072 bytes                               ``MAX_ARG_STRLEN``
``job_environment`` (each)      131,072 bytes for ``NAME=value``            ``MAX_ARG_STRLEN``
the stored template             all annotations 262,144 bytes               Kubernetes
==============================  ==========================================  ==========

The template annotation is never trimmed: the tracker reads it back
(``job_template``, a reattaching operator compares it), so a shortened copy
would be a wrong answer later. A template too large to store is rejected,
naming the field that takes the most room.

:func:`collect_errors` runs the converter, and after each error it sets the
field at fault aside (an extension dropped, a field back to a neutral value)
and converts again, so one :class:`InvalidTemplateError` lists every broken
field of the template. All of it is pure: no request is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import fields as dataclass_fields
from typing import Any, TypeVar

from airflow_provider_mpi.drmaa2 import InvalidArgumentError, InvalidTemplateError, JobTemplate
from airflow_provider_mpi.drmaa2.template import JOB_TEMPLATE_FIELDS
from airflow_provider_mpi.mpioperator.template.table import WORKER_IMAGE
from airflow_provider_mpi.mpioperator.template.validation import ANNOTATIONS_MAX_BYTES

__all__ = [
    "ANNOTATIONS_MAX_BYTES",
    "ARG_MAX_BYTES",
    "IMAGE_NAME_MAX",
    "IMAGE_TAG_MAX",
    "PATH_MAX_BYTES",
    "annotation_budget_error",
    "collect_errors",
    "neutralized",
    "size_errors",
]

#: Linux ``MAX_ARG_STRLEN``: one argument or environment string, in bytes.
ARG_MAX_BYTES = 32 * 4096
#: Linux ``PATH_MAX``: a path, in bytes.
PATH_MAX_BYTES = 4096
#: Image references: the repository part (registry and path) and the tag.
IMAGE_NAME_MAX = 255
IMAGE_TAG_MAX = 128
#: At most this many errors are collected from one template.
MAX_ERRORS = 32

_EXTENSION_FIELD = re.compile(r"extension_list\[(['\"])(?P<key>.+)\1\]")
_NEUTRAL: Mapping[str, object] = {"job_category": "image", "min_slots": 1, "max_slots": 0}
_FIELD_NAMES = frozenset(f.name for f in dataclass_fields(JobTemplate))
_PYTHON_NAMES = {f.key: f.name for f in JOB_TEMPLATE_FIELDS}

T = TypeVar("T")


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def _image_error(image: str) -> str | None:
    name, _, _digest = image.partition("@")
    last_slash = name.rfind("/")
    tag = ""
    if ":" in name[last_slash + 1 :]:
        name, _, tag = name.rpartition(":")
    if len(name) > IMAGE_NAME_MAX:
        return (
            f"an image repository name is at most {IMAGE_NAME_MAX} characters "
            f"(this one has {len(name):,})"
        )
    if len(tag) > IMAGE_TAG_MAX:
        return f"an image tag is at most {IMAGE_TAG_MAX} characters (this one has {len(tag):,})"
    return None


def size_errors(jt: JobTemplate) -> list[InvalidTemplateError]:
    """The fields of a template that exceed a bound of Kubernetes or Linux.

    Args:
        jt: the template (fields of the wrong type are skipped here; the
            converter reports them).

    Returns:
        One error per field at fault, naming it with its value shortened.
    """
    errors: list[InvalidTemplateError] = []
    images = [("job_category", jt.job_category)]
    extensions = jt.extension_list if isinstance(jt.extension_list, dict) else {}
    worker_image = extensions.get(WORKER_IMAGE.key)
    if worker_image is not None:
        images.append((f"extension_list[{WORKER_IMAGE.key!r}]", worker_image))
    for field, image in images:
        if isinstance(image, str) and (reason := _image_error(image)) is not None:
            errors.append(InvalidTemplateError(field, image, reason))
    for field in ("remote_command", "working_directory"):
        value = getattr(jt, field)
        if isinstance(value, str) and (size := _bytes(value)) > PATH_MAX_BYTES:
            errors.append(
                InvalidTemplateError(
                    field, value, f"a path is at most {PATH_MAX_BYTES:,} bytes (has {size:,})"
                )
            )
    if isinstance(jt.args, (list, tuple)):
        for index, arg in enumerate(jt.args):
            if isinstance(arg, str) and (size := _bytes(arg)) > ARG_MAX_BYTES:
                errors.append(
                    InvalidTemplateError(
                        "args",
                        arg,
                        f"args[{index}] is {size:,} bytes; Linux passes at most "
                        f"{ARG_MAX_BYTES:,} bytes per argument",
                    )
                )
                break
    if isinstance(jt.job_environment, dict):
        for name, value in jt.job_environment.items():
            if isinstance(name, str) and isinstance(value, str):
                size = _bytes(name) + 1 + _bytes(value)
                if size > ARG_MAX_BYTES:
                    errors.append(
                        InvalidTemplateError(
                            "job_environment",
                            value,
                            f"{name}=... is {size:,} bytes; Linux passes at most "
                            f"{ARG_MAX_BYTES:,} bytes per environment variable",
                        )
                    )
                    break
    return errors


def _field_sizes(jt: JobTemplate) -> dict[str, int]:
    """The bytes each field or extension takes in the stored template (Go JSON)."""
    sizes: dict[str, int] = {}
    for key, value in jt.to_dict().items():
        if key == "extension":
            for ext, ext_value in (value.get("extensionList") or {}).items():
                sizes[f"extension_list[{ext!r}]"] = _bytes(json.dumps(ext_value))
            continue
        sizes[key] = _bytes(json.dumps(value))
    return sizes


def annotation_budget_error(
    jt: JobTemplate, template_json: str, annotations: Mapping[str, str]
) -> InvalidTemplateError | None:
    """Reject a template whose annotations, the stored template included, exceed 256 KiB.

    Args:
        jt: the template.
        template_json: its Go JSON (the value of the template annotation).
        annotations: every annotation of the object, the template's included.

    Returns:
        None when they fit; else an error naming the field or extension that
        takes the most room.
    """
    total = sum(_bytes(key) + _bytes(value) for key, value in annotations.items())
    if total <= ANNOTATIONS_MAX_BYTES:
        return None
    sizes = _field_sizes(jt)
    largest = max(sizes, key=lambda name: sizes[name])
    match = _EXTENSION_FIELD.fullmatch(largest)
    if match is not None:
        field, value = largest, jt.extension_list.get(match.group("key"))
    else:
        field = _PYTHON_NAMES.get(largest, largest)
        value = getattr(jt, field, None)
    return InvalidTemplateError(
        field,
        value,
        f"makes the job too large to store: the object's annotations, the job template "
        f"included, would be {total:,} bytes and Kubernetes allows {ANNOTATIONS_MAX_BYTES:,}; "
        f"this field takes {sizes[largest]:,} bytes of it",
    )


def neutralized(jt: JobTemplate, field: str) -> JobTemplate | None:
    """A copy of the template with a field at fault set aside, to look for more errors.

    Args:
        jt: the template.
        field: the ``field`` of an error (``args``, ``extension_list['x']``,
            a resource extension's key...).

    Returns:
        The copy (the extension dropped, the field neutral), or None when the
        field cannot be set aside (a rule about the whole object).
    """
    extensions = jt.extension_list if isinstance(jt.extension_list, dict) else {}
    match = _EXTENSION_FIELD.fullmatch(field)
    key = match.group("key") if match is not None else field
    if key in extensions and (match is not None or key not in _FIELD_NAMES):
        return jt.replace(extension_list={k: v for k, v in extensions.items() if k != key})
    if field not in _FIELD_NAMES:
        return None
    if field in _NEUTRAL:
        changes: dict[str, Any] = {field: _NEUTRAL[field]}
        if field == "min_slots":
            changes["max_slots"] = 0
        return jt.replace(**changes)
    default = JobTemplate()
    return jt.replace(**{field: getattr(default, field)})


def collect_errors(jt: JobTemplate, build: Callable[[JobTemplate], T]) -> T:
    """Build from a template, or raise one error that lists all of its errors.

    Args:
        jt: the template.
        build: the conversion; raises :class:`InvalidTemplateError` (several
            at once with :meth:`InvalidTemplateError.aggregate`) for the first
            fields it finds at fault.

    Returns:
        What ``build`` returned for a valid template.

    Raises:
        InvalidTemplateError: every error found (``errors`` lists them).
    """
    errors = size_errors(jt)
    current = jt
    seen: set[str] = set()
    for error in errors:
        current = neutralized(current, error.field) or current
        seen.add(error.field)
    for _ in range(MAX_ERRORS):
        try:
            result = build(current)
        except InvalidTemplateError as error:
            fields = error.fields
            if seen.intersection(fields):
                break  # set aside already and still at fault: nothing more to learn
            errors.append(error)
            seen.update(fields)
            following: JobTemplate | None = current
            for field in fields:
                following = neutralized(following, field) if following is not None else None
            if following is None:
                break
            current = following
        except InvalidArgumentError:
            if not errors:
                raise  # a caller's argument (a name, a label) is at fault, not the template
            break  # most likely a consequence of a field set aside (a task name from job_name)
        else:
            if not errors:
                return result
            break
    raise InvalidTemplateError.aggregate(errors)
