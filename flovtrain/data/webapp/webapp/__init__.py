"""flovtrain's sample web app: what CodeStar's Java Spring template deployed, in Python."""
