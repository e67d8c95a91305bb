"""The one place that runs the model packages in sequence: frames from the DB, training, campaigns, sending."""
