"""otters.nn"""
