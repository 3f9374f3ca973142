from vidforge.testmedia import BIKES_CUTS, bikes_path


def test_bikes_is_found_in_the_installed_package() -> None:
    import av

    path = bikes_path()
    with av.open(str(path)) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n > BIKES_CUTS[-1]
