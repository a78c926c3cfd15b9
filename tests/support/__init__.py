"""Support code of the tests: the program harness under mocks, the fakes (Palette, Docker engines, registries),
the Docker helpers of the real-engine layers, and the models of the Pulumi engine the tests replay."""
