"""The component package: its schema, its construct under the mocks, and the plugin over gRPC."""
