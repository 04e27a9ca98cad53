def export_csv(data, folder, *, include_all=False):
    raise NotImplementedError
