"""Developer tools run from the Makefile (开发工具), not part of the shipped packages."""
