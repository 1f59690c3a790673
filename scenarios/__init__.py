"""Workloads: Locust user classes that drive the target app's variants."""
