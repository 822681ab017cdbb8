"""killline: an agent-based simulation of China's AI-model market and its kill line (斩杀线)."""
