"""topicgen: lecture handouts whose figures and numbers come from experiments that just ran."""

__version__ = "0.1.0"
