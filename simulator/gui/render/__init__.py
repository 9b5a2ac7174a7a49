"""State-to-view adapters: what the core's values look like on the screen (fluoroscopy images
as Qt images, the procedure as pyvista actors, lesion curves as series). The widgets call
these; they hold no procedure logic."""
