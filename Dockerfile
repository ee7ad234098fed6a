# The failover function's image. `fn build` uses this file instead of generating one (it does so
# whenever a Dockerfile sits beside func.yaml); it follows the Dockerfile fn generates for
# `runtime: python`, but copies only what the function runs instead of the whole directory.
# tests/image/ assembles exactly what the COPY lines below take and serves a call through it.

# Build stage: the function's dependencies, and nothing else, into /python.
FROM fnproject/python:3.11-dev AS build-stage
WORKDIR /function
COPY requirements.txt /function/
RUN pip3 install --target /python/ --no-cache-dir -r requirements.txt && chmod -R o+r /python

# Run stage: the runtime image, the dependencies and the function's own files.
FROM fnproject/python:3.11
WORKDIR /function
COPY --from=build-stage /python /python
COPY func.py func.yaml /function/
COPY failover/ /function/failover/
RUN chmod -R o+r /function
# fdk loads func.py by path: /function on the path makes the failover package beside it importable.
ENV PYTHONPATH=/function:/python
ENTRYPOINT ["/python/bin/fdk", "/function/func.py", "handler"]
