"""otters.models"""
