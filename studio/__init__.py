"""Flow Studio: build OpenAI automations as flows of trigger, action and agent nodes, and run them locally."""
