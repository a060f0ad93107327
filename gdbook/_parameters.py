"""The text form shared by gdbook's value objects (optimizers, schedules,
search methods): their parameters."""


class ShowsParameters:
    """``repr`` lists the attributes the constructor set:
    ``Adam(lr=0.001, betas=(0.9, 0.999), ...)``."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"
