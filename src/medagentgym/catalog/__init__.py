"""Samples, categories, datasets and the registry that finds them."""

from medagentgym.catalog.dataset import Category, Dataset, ImportReport, iter_samples
from medagentgym.catalog.registry import all_datasets, dataset_names, get_dataset
from medagentgym.catalog.sample import (
    SPLITS,
    AnswerType,
    FollowUp,
    Question,
    Resource,
    Sample,
    Solution,
    Split,
    Target,
    make_sample_id,
)

__all__ = [
    "SPLITS",
    "AnswerType",
    "Category",
    "FollowUp",
    "Question",
    "Dataset",
    "ImportReport",
    "Resource",
    "Sample",
    "Solution",
    "Split",
    "Target",
    "all_datasets",
    "dataset_names",
    "get_dataset",
    "iter_samples",
    "make_sample_id",
]
