"""otters.train"""
