"""The one loader of botocore's Amazon Transcribe service model (`transcribe/2017-10-26/service-2.json`).

Member lists, enums, constraints and output shapes are read from it, never copied by hand.
Loaded once per process on first use (about 0.1 s).
"""

from __future__ import annotations

import functools

SERVICE = "transcribe"


@functools.cache
def service_model():
    """botocore.model.ServiceModel of the installed botocore's transcribe model."""
    import botocore.session

    return botocore.session.get_session().get_service_model(SERVICE)


def shape(name: str):
    """A named shape of the model (e.g. "LanguageCode"). Raises botocore's NoShapeFoundError."""
    return service_model().shape_for(name)


def enum(name: str) -> tuple[str, ...]:
    """The enum values of a string shape, in model order (e.g. enum("PiiEntityType"))."""
    return tuple(shape(name).enum)
