"""spinnaker backend."""
