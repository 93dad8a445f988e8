"""otters.energy"""
