"""Train, resume, and use what was trained: the bodies of the commands pipelines/ and make run."""
