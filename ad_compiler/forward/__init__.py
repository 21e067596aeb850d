"""The forward transform (jvp): tangents alongside values."""
