"""The window's parts. Each widget takes the :class:`~simulator.gui.model.ProcedureModel` in
its constructor, subscribes to its signals and turns the user's gestures into model calls."""
