"""Built-in executors (registered by import path: Ray is imported only when its executor is used)."""

from mezoo import hookimpl


@hookimpl
def register_executors(register):
    register("mezoo.engine.executors:LocalExecutor", name="local")
    register("mezoo.engine.ray_executor:RayExecutor", name="ray")
