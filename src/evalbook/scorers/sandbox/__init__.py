"""Running untrusted code: the sandboxed child process, its isolation and the
``code-exec`` scorer built on it."""
