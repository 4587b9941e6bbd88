"""ipam"""
