"""Where student code runs: a package of its own, importing only the standard library, torch,
numpy and its own modules. The grader imports nothing from here but the wire format.

zygote.py          the processes: the first enters the sandbox, the zygote forks one worker per request
jail.py            the operating system's walls: namespaces, a read-only view, limits, no privileges
seccomp_filter.py  the system calls a worker may not make
guards.py          the exercises' rules (forbidden computations end the worker), an audit hook
drivers.py         the scenarios the worker plays with student code
shared.py          tensors the grader lends by memory, whose in-place changes it reads itself
wire.py            the data-only format between grader and worker (never pickle)
"""
